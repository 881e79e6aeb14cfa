"""Enterprise requests (企业诉求) and citizen reports (12345); Open311 GeoReport v2."""
