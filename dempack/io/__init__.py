"""Writers: CSV time series, JSON summary, VTK snapshots, checkpoints. Whole files
are replaced atomically (`atomic`); the CSV convention is in `tables`."""
from .atomic import atomic_write
from .checkpoint import CheckpointError, check_checkpoint, load_checkpoint, save_checkpoint
from .tables import CSVWriter, RowLog, read_csv, write_json, write_table
from .vtk import PVDCollection, write_vtp

__all__ = ["CSVWriter", "RowLog", "read_csv", "write_json", "write_table", "atomic_write", "PVDCollection",
           "write_vtp", "save_checkpoint", "load_checkpoint", "check_checkpoint",
           "CheckpointError"]
