"""nbval runs of the chapters: kernels inherit this process's environment, and a chapter's progress bars
(``rlbook.rl.progress``, shown live in JupyterLab) stay out of the outputs nbval compares."""

import os

os.environ["RLBOOK_PROGRESS"] = "0"
