"""Imported by the forkserver that engine's worker pools fork from (its preload list), and by nothing else: the
forkserver exits with the process that started it, so its workers, which exit with the forkserver, do too."""
from .children import die_with_parent

die_with_parent()
