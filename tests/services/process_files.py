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


def with_deadlines(*, remind: str = "PT24H", give_up: str = "P3D") -> str:
    """A clerk's step with two boundary timers: a reminder that escalates it to a second
    clerk's step without stopping it (``remind``), and a time-out that ends it (``give_up``)."""
    return f"""{HEADER}
  <bpmn:process id="deadlines" name="Deadlines" isExecutable="true">
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="lane_a" name="police">
        <bpmn:flowNodeRef>review</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>escalation</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
    <bpmn:userTask id="review" name="Review"/>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="done"/>
    <bpmn:scriptTask id="done"><bpmn:script>outcome = "reviewed"</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f3" sourceRef="done" targetRef="end"/>
    <bpmn:endEvent id="end"/>
    <bpmn:boundaryEvent id="remind" attachedToRef="review" cancelActivity="false">
      <bpmn:timerEventDefinition id="remind_after">
        <bpmn:timeDuration>"{remind}"</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f4" sourceRef="remind" targetRef="escalation"/>
    <bpmn:userTask id="escalation" name="Escalation: chase the review"/>
    <bpmn:sequenceFlow id="f5" sourceRef="escalation" targetRef="escalation_end"/>
    <bpmn:endEvent id="escalation_end"/>
    <bpmn:boundaryEvent id="give_up" attachedToRef="review" cancelActivity="true">
      <bpmn:timerEventDefinition id="give_up_after">
        <bpmn:timeDuration>"{give_up}"</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f6" sourceRef="give_up" targetRef="timed_out"/>
    <bpmn:scriptTask id="timed_out">
      <bpmn:script>outcome = "timed-out"</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f7" sourceRef="timed_out" targetRef="end_timed_out"/>
    <bpmn:endEvent id="end_timed_out"/>
  </bpmn:process>
</bpmn:definitions>
"""


def with_remote_step(*, time_out: str = "P5D") -> str:
    """Jiangsu's social security confirms the years paid there (a signed request and reply);
    if no reply comes within ``time_out``, the city's clerk goes on without it."""
    return f"""{HEADER}
  <bpmn:process id="delta_years" name="Years paid in another region" isExecutable="true">
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="lane_hrss" name="social-security">
        <bpmn:flowNodeRef>confirm_delta_years</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>compute</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="confirm_delta_years"/>
    <bpmn:userTask id="confirm_delta_years" name="Jiangsu confirms the years paid there">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="remote_region" value="JS"/>
          <spiffworkflow:property name="form" value="contribution_years_delta"/>
          <spiffworkflow:property name="sla_hours" value="120"/>
        </spiffworkflow:properties>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="confirm_delta_years" targetRef="confirmed"/>
    <bpmn:scriptTask id="confirmed">
      <bpmn:script>delta_confirmed = True</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f3" sourceRef="confirmed" targetRef="merge"/>
    <bpmn:boundaryEvent id="no_reply" attachedToRef="confirm_delta_years" cancelActivity="true">
      <bpmn:timerEventDefinition id="no_reply_after">
        <bpmn:timeDuration>"{time_out}"</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f4" sourceRef="no_reply" targetRef="unconfirmed"/>
    <bpmn:scriptTask id="unconfirmed">
      <bpmn:script>delta_confirmed = False</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f5" sourceRef="unconfirmed" targetRef="merge"/>
    <bpmn:exclusiveGateway id="merge"/>
    <bpmn:sequenceFlow id="f6" sourceRef="merge" targetRef="compute"/>
    <bpmn:userTask id="compute" name="Compute the pension"/>
    <bpmn:sequenceFlow id="f7" sourceRef="compute" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def with_fragile_follow_on() -> str:
    """A process that waits a day, then divides by the applicant's ``divisor`` (0 fails)."""
    return f"""{HEADER}
  <bpmn:process id="fragile" name="Fragile" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait"/>
    <bpmn:intermediateCatchEvent id="wait">
      <bpmn:timerEventDefinition id="day">
        <bpmn:timeDuration>"P1D"</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="share"/>
    <bpmn:scriptTask id="share"><bpmn:script>share = 100 / divisor
outcome = "shared"</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f3" sourceRef="share" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
"""
