"""Trust: signature suites, regions' issuing keys, certificates, signed trust lists, stores."""
