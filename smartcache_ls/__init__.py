"""smartcache-ls: a predictive cache that lives inside the editor."""

__version__ = "0.1.0"
