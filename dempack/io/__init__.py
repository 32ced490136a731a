"""Writers: CSV time series, JSON summary, VTK snapshots, checkpoints."""
from .checkpoint import CheckpointError, check_checkpoint, load_checkpoint, save_checkpoint
from .tables import CSVWriter, write_json
from .vtk import PVDCollection, write_vtp

__all__ = ["CSVWriter", "write_json", "PVDCollection", "write_vtp", "save_checkpoint",
           "load_checkpoint", "check_checkpoint", "CheckpointError"]
