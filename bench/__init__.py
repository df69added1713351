"""Benchmarks of bsdprov against pyinfra, Ansible, Fabric and the SSH floor (``invoke bench``)."""
