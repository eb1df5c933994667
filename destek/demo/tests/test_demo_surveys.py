"""The demo's survey answers: resolved tickets were asked, some answered unhappy, and a
second run adds nothing."""

from __future__ import annotations

import pytest

from destek.demo.data import load_demo
from destek.demo.surveys import seed_survey_answers
from destek.surveys.models import SurveyAnswer, SurveySent
from destek.surveys.report import UNHAPPY
from destek.tickets.models import Ticket

pytestmark = pytest.mark.django_db


def test_the_demo_has_survey_answers_some_of_them_unhappy() -> None:
    load_demo(knowledge_base=False, sample_tickets=True)
    resolved = Ticket.objects.filter(resolved_at__isnull=False).count()
    assert SurveySent.objects.count() == resolved > 0
    assert 0 < SurveyAnswer.objects.count() < resolved, "most answered, some not"
    differ = [a for a in SurveyAnswer.objects.all() if len({a.speed, a.clarity, a.tone}) > 1]
    assert differ, "each question has its own score"
    assert SurveyAnswer.objects.filter(UNHAPPY).exists()
    assert SurveyAnswer.objects.exclude(UNHAPPY).exists()
    assert not SurveyAnswer.objects.filter(agent=None).exists(), "kept with who answered"
    assert seed_survey_answers(every=1) == (0, 0), "safe to run twice"
