"""``orchestrator-forwarder``: events of a gateway's ``SubscribeToEvents`` streams, published to RabbitMQ."""
