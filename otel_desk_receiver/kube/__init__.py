"""A thin client for the two Kubernetes API resources the receiver uses (ConfigMaps and Leases), on requests."""
