import sys

import rag.offline  # noqa: F401  (network and telemetry guards before ragas/chromadb are imported)
from evals.runner import main

sys.exit(main())
