"""Study areas: the grid, the layers on it, the manifest, data checks and coarsening."""

from ruimteverdeling.area.grid import Grid
from ruimteverdeling.area.manifest import AreaManifest, LayerSpec, load_manifest
from ruimteverdeling.area.studyarea import Layer, StudyArea

__all__ = ["AreaManifest", "Grid", "Layer", "LayerSpec", "StudyArea", "load_manifest"]
