"""Teaching presets: the "Demonstrations" menu.

Each entry is (menu title, scenario file, colour of the 3D view): a file in scenarios/ (runnable from the command line
too: `dempack run scenarios/demo_....toml`); its explanation is the file's
leading comment block, shown in the app when the demonstration is loaded, so
the text lives next to the numbers it explains. Each runs in under a minute.
"""
from __future__ import annotations

from dempack.scenario import SCENARIO_DIR

DEMOS = (
    ("Pressing a powder: porosity falls with pressure", "demo_pressing.toml",
     "material"),
    ("Creep fills pores: Se under a stack pressure", "demo_creep_fills_pores.toml",
     "creep strain"),
    ("Why rigid particles crack: FeS swells but cannot creep", "demo_rigid_cracks.toml",
     "breakage generation"),
    ("Se vs LiCoO2 side by side in one electrode", "demo_se_vs_lco.toml",
     "von Mises stress"),
)


def demo_path(filename: str):
    return SCENARIO_DIR / filename
