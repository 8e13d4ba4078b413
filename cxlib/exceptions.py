"""Precise exception classes for cx-suite. Every message says what, where and how to fix."""


class CxError(Exception):
    """Base class of every error cx-suite raises on purpose."""


class ConfigError(CxError):
    """The YAML config is missing, malformed, or holds unknown or invalid keys."""


class DemoFolderError(CxError):
    """``cx synth`` was pointed at a folder holding files it did not write (it replaces only its own)."""


class DataValidationError(CxError):
    """One or more input tables break the data contract.

    Parameters
    ----------
    problems : list of str
        One readable line per problem (table.column: rule, count, example rows, fix).
    warnings : list of str, optional
        Suspicious but plausible data found on the way, listed after the problems.
    """

    def __init__(self, problems: list[str], warnings: list[str] | tuple = ()):
        self.problems = list(problems)
        self.warnings = list(warnings)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        message = (
            f"The input data has {len(self.problems)} problem(s) "
            f"(row numbers count the header as row 1, as a spreadsheet shows them):\n{lines}"
        )
        if self.warnings:
            message += f"\nand {len(self.warnings)} warning(s):\n" + "\n".join(
                f"  - {w}" for w in self.warnings
            )
        super().__init__(message)


class NotebookRunError(CxError):
    """A notebook failed to run, or ran but produced a defective report."""


class NotFittedError(CxError, AttributeError):
    """A model was used before ``fit`` (also an ``AttributeError``, as scikit-learn's is)."""


class MissingInputError(CxError):
    """A notebook asked for a table that no earlier notebook of this run produced."""


class ParameterError(CxError):
    """A parameter passed to a notebook does not exist in its parameters cell."""


class ReportFolderError(CxError):
    """The report or run-data folder holds files a run did not write, which publishing would replace."""


class InputFileError(CxError):
    """An input file cannot be read (empty, wrong format, encoding or separator, missing sheet)."""


class InsufficientMemoryError(CxError, MemoryError):
    """The input is estimated to need more memory than the machine has available (checked before reading)."""


class MissingMessageError(CxError, LookupError):
    """A note's code has no template in the message catalogue, or its template needs a value the note lacks."""


class RunInterrupted(KeyboardInterrupt):
    """A run was stopped by SIGINT or SIGTERM.

    A ``KeyboardInterrupt``, so that no ``except Exception`` swallows it and asyncio (inside
    papermill) re-raises it instead of storing it in a task.

    Parameters
    ----------
    signum : int
        The signal received.
    published : bool
        Whether the new reports had already been published when the signal arrived.
    """

    def __init__(self, signum: int, published: bool = False):
        self.signum = signum
        self.published = published
        super().__init__(signum)
