"""SSH to managed hosts, by concern: ``config`` (where and how to connect), ``host_keys``
(known_hosts and pinned keys, checked before authentication), ``errors`` (one message per
failure), ``transport`` (connecting and the session). The only package that imports Fabric or
Paramiko; this file imports nothing, so importing one part does not load the others."""
