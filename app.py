"""The web page (see rag/web.py): `python app.py [--host H] [--port P]`."""
import sys

from rag.web import main

if __name__ == "__main__":
    sys.exit(main())
