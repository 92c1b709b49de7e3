"""Torch networks of pinet_ros and their pure pre/post-processing."""
