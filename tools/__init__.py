"""Development tools: the Kafka sandbox, the console's test fake, the demo, screenshots."""
