"""bsdprov: agentless network provisioning for the BSDs."""

__version__ = "0.1.0"
