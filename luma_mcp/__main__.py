import sys

from luma_mcp.cli import main

sys.exit(main())
