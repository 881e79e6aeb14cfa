"""Shared bikes: trips and parked bikes per H3 cell and hour, demand forecast, rebalancing."""
