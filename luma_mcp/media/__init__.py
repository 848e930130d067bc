"""Bytes in and out: image inputs for requests, finished outputs to disk and previews."""
