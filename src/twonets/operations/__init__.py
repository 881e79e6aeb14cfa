"""City operations centre (一网统管): management elements, device intake, closed-loop cases."""
