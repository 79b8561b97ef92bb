"""qa beyond one machine (issue 13): Ray for what one machine cannot do alone.

    embed.py   `RayEmbedder`: a build's embedding batches run by a pool of Ray actors

Ray is an optional extra (``pip install -e '.[cluster]'``); nothing else in qa imports this package,
so the single-machine path is exactly what it was without it.
"""
