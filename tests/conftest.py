"""The fixtures live in `tests/support`; this names them to pytest, for every test."""

pytest_plugins = ["tests.support.fixtures", "tests.support.servers", "tests.support.stores", "tests.support.buckets"]
