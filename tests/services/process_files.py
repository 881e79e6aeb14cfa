"""Small process files the services tests run (the NEV plate file is the package's own)."""

from __future__ import annotations

from pathlib import Path

import twonets.services

PROCESSES = Path(twonets.services.__file__).resolve().parent / "processes"
NEV_PLATE = PROCESSES / "nev_plate.bpmn"

HEADER = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
  id="defs" targetNamespace="https://twonets.dev/tests">"""


def two_steps(
    *, second: str = "approve", script: str = "total = amount * 2", review: bool = True
) -> str:
    """A process: a script, then a clerk's step ``review``, then ``second``, then the end.

    Without ``review`` the script leads straight to ``second`` (a version that dropped it).
    """
    text = f"""{HEADER}
  <bpmn:process id="two_steps" name="Two steps" isExecutable="true">
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="lane_a" name="civil-affairs">
        <bpmn:flowNodeRef>review</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>{second}</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="compute"/>
    <bpmn:scriptTask id="compute"><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="compute" targetRef="review"/>
    <bpmn:userTask id="review" name="Review"/>
    <bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="{second}"/>
    <bpmn:userTask id="{second}" name="Second step"/>
    <bpmn:sequenceFlow id="f4" sourceRef="{second}" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
"""
    if not review:
        text = text.replace("<bpmn:flowNodeRef>review</bpmn:flowNodeRef>", "")
        text = text.replace('<bpmn:userTask id="review" name="Review"/>', "")
        text = text.replace('targetRef="review"', f'targetRef="{second}"')
        text = text.replace(
            f'<bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="{second}"/>', ""
        )
    return text


def with_timer() -> str:
    """A process that waits a day on a timer after its script."""
    return f"""{HEADER}
  <bpmn:process id="timed" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="note"/>
    <bpmn:scriptTask id="note"><bpmn:script>noted = True</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="note" targetRef="wait"/>
    <bpmn:intermediateCatchEvent id="wait">
      <bpmn:timerEventDefinition id="day">
        <bpmn:timeDuration>"P1D"</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f3" sourceRef="wait" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
"""
