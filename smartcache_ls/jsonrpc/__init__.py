"""The wire: JSON-RPC framing, message checks and strict encoding for the LSP server.

``framing`` reads bounded ``Content-Length`` frames and resynchronises after bad
ones; ``messages`` decodes and encodes strict JSON and checks the envelope;
``shapes`` checks params against the lsprotocol types before cattrs sees them;
``protocol`` is pygls' protocol with that intake and output; ``transport`` runs
the read loop over stdio or TCP.
"""

from .protocol import RpcProtocol
from .transport import run_stdio, run_tcp

__all__ = ["RpcProtocol", "run_stdio", "run_tcp"]
