"""Re-running an investigation from widgets: text boxes for some of its parameters and a Run button, so a live
analyst picks another instance, principal or day without editing code; headless runs (papermill) keep the answer
their parameters gave."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from trailtools.errors import TrailtoolsError
from trailtools.terminal import echo

__all__ = ["Rerun", "rerun"]


class Rerun:
    """Text boxes for some of an investigation's parameters and a button: the investigation runs again with the
    values given and its views are shown below. Nothing runs until the button is pressed (or Enter in a box), so a
    headless run (papermill) keeps the answer its parameters gave, above."""

    NOTE = "In JupyterLab, change the values here and press Run to investigate again without editing the code."

    def __init__(self, run: Callable[..., Any], show: Sequence[str], *, fixed: Mapping[str, Any] | None = None,
                 **values: Any):
        import ipywidgets as w  # noqa: PLC0415 (heavy, loaded on use)

        self._run, self._show, self._fixed = run, list(show), dict(fixed or {})
        self.inputs = {name: w.Text(value="" if value is None else str(value), description=name,
                                    placeholder="(default)", continuous_update=False).add_class(f"trailtools-{name}")
                       for name, value in values.items()}
        self.button = w.Button(description="Run", button_style="primary").add_class("trailtools-run")
        self.output = w.Output()
        self.button.on_click(lambda _b: self.run())
        for box in self.inputs.values():
            box.observe(lambda _change: self.run(), names="value")  # Enter (or leaving the box) after a change
        self.widget = w.VBox([w.HBox([*self.inputs.values(), self.button]), self.output]).add_class("trailtools-rerun")

    def values(self) -> dict[str, str | None]:
        """The parameters as typed (an empty box is None: the investigation's default)."""
        return {name: (box.value.strip() or None) for name, box in self.inputs.items()}

    def run(self) -> None:
        from IPython.display import display  # noqa: PLC0415 (heavy, loaded on use)


        self.output.clear_output(wait=True)
        with self.output:
            try:
                result = self._run(**self._fixed, **self.values())
            except TrailtoolsError as exc:  # a bad ID or time: one sentence, as the CLI says it
                echo(exc)  # may quote evidence: control characters shown, not acted on
                return
            for view in self._show:
                display(getattr(result, view)())

    def _repr_mimebundle_(self, **kwargs):
        data = self.widget._repr_mimebundle_(**kwargs)
        data = dict(data[0] if isinstance(data, tuple) else data)
        data["text/plain"] = self.NOTE
        return data


def rerun(run: Callable[..., Any], show: Sequence[str], *, fixed: Mapping[str, Any] | None = None,
          **values: Any) -> Rerun:
    """Widgets to run ``run(**fixed, **values)`` again with other values and display ``result.<view>()`` for
    each name in ``show``: e.g. another instance or day in the reboot notebook."""
    return Rerun(run, show, fixed=fixed, **values)
