"""Reaching the cluster: connect strings, ZooKeeper sessions, client security, discovery."""
