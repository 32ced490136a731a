"""The package version, in a module of its own so that any module may import it without
importing the package (`dempack/__init__.py` imports `io.checkpoint`, which writes it)."""
__version__ = "0.1.0"
