"""The demo's text chart of the losses per epoch."""

from __future__ import annotations

from localcloud.demo import CHART_WIDTH, loss_chart, text_bar


def test_bars_are_proportional_with_eighths_of_a_cell() -> None:
    assert text_bar(1.0, 1.0) == "█" * CHART_WIDTH
    assert text_bar(0.5, 1.0, width=10) == "█████"
    assert text_bar(0.5625, 1.0, width=10) == "█████▋"  # 5.625 cells: 5 and five eighths
    assert text_bar(0.0, 1.0) == "" and text_bar(1.0, 0.0) == ""
    assert text_bar(2.0, 1.0, width=4) == "████"  # never longer than the chart
    assert text_bar(0.5, 1.0, width=10, unicode=False) == "#####"


def test_each_epoch_shows_training_and_validation_on_one_scale() -> None:
    lines = loss_chart(
        [
            {"epoch": 1, "trainingLoss": 1.0, "validationLoss": 1.2},
            {"epoch": 2, "trainingLoss": 0.6, "validationLoss": None},
        ]
    )
    assert lines[0].startswith("  epoch 1  training   1.0000 ")
    assert lines[1].startswith("           validation 1.2000 " + "█" * CHART_WIDTH)
    assert lines[2].startswith("  epoch 2  training   0.6000 " + "█" * (CHART_WIDTH // 2))
    assert len(lines) == 3  # no validation bar where there is no validation loss
