"""Device intake: JT/T 808 terminals and MQTT meters, feeding the case loop."""
