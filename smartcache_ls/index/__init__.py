"""The workspace index: a symbol table (name -> defining files) and the reference graph
(file -> files it refers to, and back), built from the analyses in the background."""

from .graph import Edge, FileEntry, RefGraph, entry_from_analysis
from .symbols import SymbolTable

__all__ = ["Edge", "FileEntry", "RefGraph", "SymbolTable", "entry_from_analysis"]
