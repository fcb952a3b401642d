"""Comptoir's workstation agent: keeps a field station's dossiers in step with the hub.

Standard library only; it never imports Django or the hub's code.
"""

__version__ = "1.0.0"
