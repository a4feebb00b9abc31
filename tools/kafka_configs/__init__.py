"""Generator of the broker config definitions the privacy filter allows (make kafka-configs)."""
