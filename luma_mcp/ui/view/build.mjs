// Builds the view into one self-contained HTML file, ../view.html (shipped in the package), and the
// test host page, tests/ui/host/host.html: script and style inlined, nothing fetched at run time.
// Deterministic (pinned versions in package-lock.json, no dates, no paths): `.ci/ui` builds again
// and checks the committed files are these builds.
//   node build.mjs            write both
//   node build.mjs --check    write nothing; exit 1 if a committed file differs from its build
import * as esbuild from "esbuild";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const repository = join(here, "..", "..", "..");
const check = process.argv.includes("--check");

// zod ships every locale's messages; the view's library only validates messages it exchanges
// with the host, and English is enough for a failure logged to the console: 260 KB less.
const englishOnly = {
  name: "zod-english-only",
  setup(build) {
    build.onResolve({ filter: /\/locales\/index\.js$/ }, (args) =>
      args.importer.includes(`${join("node_modules", "zod")}`) ? { path: join(dirname(args.importer), "../locales/en.js"), namespace: "zod-en" } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: "zod-en" }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(args.path)};`,
      resolveDir: here,
    }));
  },
};

async function bundle(entry) {
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    minify: true,
    format: "esm",
    target: "es2022",
    platform: "browser",
    legalComments: "eof",
    write: false,
    plugins: [englishOnly],
    nodePaths: [join(here, "node_modules")], // the test host's source lives beside the tests
  });
  return result.outputFiles[0].text.replaceAll("</script", "<\\/script");
}

async function page(template, script, style) {
  const css = style ? (await esbuild.transform(readFileSync(style, "utf8"), { loader: "css", minify: true })).code : "";
  return readFileSync(template, "utf8")
    .replace("<!-- style -->", () => (css ? `<style>${css.trim()}</style>` : ""))
    .replace("<!-- script -->", () => `<script type="module">${script.trim()}</script>`);
}

const pages = [
  {
    out: join(here, "..", "view.html"),
    html: await page(join(here, "src", "index.html"), await bundle(join(here, "src", "main.ts")), join(here, "src", "style.css")),
  },
  {
    out: join(repository, "tests", "ui", "host", "host.html"),
    html: await page(join(repository, "tests", "ui", "host", "index.html"), await bundle(join(repository, "tests", "ui", "host", "host.ts"))),
  },
];

let stale = 0;
for (const { out, html } of pages) {
  const name = relative(repository, out);
  if (check) {
    let committed = "";
    try {
      committed = readFileSync(out, "utf8");
    } catch {}
    if (committed !== html) {
      stale += 1;
      console.error(`FAIL ${name} is not the build of its source: run node luma_mcp/ui/view/build.mjs and commit it`);
    } else {
      console.log(`ok   ${name} is the build of its source (${Buffer.byteLength(html)} bytes)`);
    }
  } else {
    writeFileSync(out, html);
    console.log(`wrote ${name} (${Buffer.byteLength(html)} bytes)`);
  }
}
process.exit(stale ? 1 : 0);
