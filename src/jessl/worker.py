"""Each process that `jessl.launch.torchrun` starts: `python -m jessl.worker JOB.json` runs the job's stage
(rank 0 logs to the job's log)."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

log = logging.getLogger("jessl.worker")


def main(spec_path: str) -> None:
    from . import stages

    spec = json.loads(Path(spec_path).read_text())
    rank = int(os.environ.get("RANK", 0))
    stages.setup_logging(spec["logfile"] if rank == 0 else None, append=True)
    try:
        getattr(stages, spec["stage"])(**spec["kwargs"])
    except stages.user_errors() as err:
        log.error("error (rank %d): %s", rank, err)
        sys.exit(1)


if __name__ == "__main__":
    main(sys.argv[1])
