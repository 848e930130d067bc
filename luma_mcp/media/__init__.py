"""Images in and out, with no knowledge of settings, jobs or MCP.

In: `image_input` (the argument-level input, no I/O), `local_files` (reading a path safely),
`resolver` (into the API's form, uploading large ones once). Out: `outputs` (a checked download
to disk, and `SavedFile`, its record), `names` (browsable file names), `folders` (the output
folder and its private fallback), `previews` (renditions within the host's budget). Shared:
`sniff` (what bytes are), `image_threads` (image work off the event loop, a few at a time).
"""
