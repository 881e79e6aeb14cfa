""" "One thing" services (一件事): process definitions in BPMN, applications, the workbench."""
