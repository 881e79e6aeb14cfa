"""Group rentals (群租): households' water, electricity and gas readings, leads, the loop."""
