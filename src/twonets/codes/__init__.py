"""Personal and enterprise codes (随申码): scenario-bound rotating QR codes and scans."""
