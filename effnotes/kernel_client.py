"""A notebook client that never waits out a cell timeout for a reply it has already been sent.

papermill's client waits for a cell's ``execute_reply`` with one long poll of the shell
socket (as long as the cell timeout) and for its outputs with an unbounded poll of the iopub
socket. When the event loop misses the socket's wake-up (seen with cells that display an
ipywidgets ``Output`` widget, whose captured output the client sends back to the kernel on the
shell socket while it waits for the reply) the reply sits unread in the socket until the
poll times out. :class:`WatchedNotebookClient` polls both sockets in short slices instead:
every slice that ends without a wake-up checks the socket directly, so a missed wake-up costs
at most one slice (:attr:`~WatchedNotebookClient.poll_slice_s`) and is counted in
:attr:`~WatchedNotebookClient.late_replies`.

It also tells a kernel that went idle without replying from one that is still working: a cell
whose kernel has reported ``status: idle`` for it but whose reply has not come within
:attr:`~WatchedNotebookClient.stall_after_s` seconds raises :class:`KernelStallError`, which
:func:`effnotes.execution.execute_chapter` retries once and records, instead of waiting for
the cell timeout.
"""

from __future__ import annotations

import datetime as _dt
import time
from queue import Empty
from typing import Any

from nbclient.client import timestamp
from nbclient.exceptions import CellTimeoutError
from nbclient.util import ensure_async, run_sync
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines
from traitlets import Float, List

ENGINE_NAME = "effnotes-watched"
#: A late reply is one found when a slice ended (by its direct check of the socket, not by a
#: wake-up) at least this long after the kernel stamped it.
LATE_AFTER_S = 0.5


class KernelStallError(CellTimeoutError):
    """The kernel went idle for a cell without sending that cell's reply."""


def _age_s(msg: dict[str, Any]) -> float | None:
    """Seconds since the kernel stamped ``msg`` (``None`` without a usable date)."""
    date = msg.get("header", {}).get("date")
    if isinstance(date, str):
        try:
            date = _dt.datetime.fromisoformat(date)
        except ValueError:
            return None
    if not isinstance(date, _dt.datetime):
        return None
    if date.tzinfo is None:
        date = date.replace(tzinfo=_dt.timezone.utc)
    return (_dt.datetime.now(_dt.timezone.utc) - date).total_seconds()


class WatchedNotebookClient(PapermillNotebookClient):
    """papermill's client, polling in slices and detecting a kernel idle without a reply."""

    poll_slice_s = Float(1.0, help="longest single wait on a socket (seconds)").tag(config=True)
    stall_after_s = Float(60.0, help="seconds a kernel may stay idle for a cell without "
                                     "sending its reply before the cell counts as stalled"
                          ).tag(config=True)
    late_replies = List(help="(cell index, seconds late) of every reply that was found by a "
                             "slice's direct check rather than by a wake-up")

    _cell_index: int = -1

    async def async_execute_cell(self, cell, cell_index, execution_count=None,
                                 store_history=True):
        self._cell_index = cell_index
        return await super().async_execute_cell(cell, cell_index, execution_count,
                                                store_history)

    execute_cell = run_sync(async_execute_cell)  # nbclient binds its own at class creation

    async def _async_poll_for_reply(self, msg_id, cell, timeout, task_poll_output_msg,
                                    task_poll_kernel_alive):
        assert self.kc is not None
        deadline = None if timeout is None else time.monotonic() + timeout
        idle_since = None
        while True:
            now = time.monotonic()
            if task_poll_output_msg.done() and idle_since is None:
                idle_since = now
            if idle_since is not None and now - idle_since >= self.stall_after_s:
                task_poll_kernel_alive.cancel()
                await self._async_check_alive()
                raise KernelStallError.error_from_timeout_and_cell(
                    "Kernel went idle without replying", int(self.stall_after_s), cell)
            if deadline is not None and now >= deadline:
                task_poll_kernel_alive.cancel()
                await self._async_check_alive()
                msg = await self._async_handle_timeout(timeout, cell)  # raises unless interrupting
                if msg is None:
                    deadline = None
                    continue
                msg["parent_header"] = {"msg_id": msg_id}
            else:
                wait = self.poll_slice_s if deadline is None else min(self.poll_slice_s,
                                                                      deadline - now)
                asked = time.monotonic()
                try:
                    msg = await ensure_async(self.kc.shell_channel.get_msg(timeout=max(wait, 0.0)))
                except Empty:
                    continue
                if msg["parent_header"].get("msg_id") != msg_id:
                    continue
                age = _age_s(msg)
                at_slice_end = time.monotonic() - asked >= 0.9 * wait
                if at_slice_end and age is not None and age > LATE_AFTER_S:
                    self.late_replies.append((self._cell_index, round(age, 3)))
                if self.record_timing:
                    cell["metadata"]["execution"]["shell.execute_reply"] = timestamp(msg)
            return await self._finish_reply(msg, cell, task_poll_output_msg,
                                            task_poll_kernel_alive)

    async def _finish_reply(self, msg, cell, task_poll_output_msg, task_poll_kernel_alive):
        """Wait (at most ``iopub_timeout``) for the cell's outputs to be read, then hand back
        its reply, as nbclient does."""
        import asyncio

        try:
            await asyncio.wait_for(task_poll_output_msg, self.iopub_timeout)
        except (asyncio.TimeoutError, Empty):
            if self.raise_on_iopub_timeout:
                task_poll_kernel_alive.cancel()
                raise CellTimeoutError.error_from_timeout_and_cell(
                    "Timeout waiting for IOPub output", self.iopub_timeout, cell) from None
            self.log.warning("Timeout waiting for IOPub output")
        task_poll_kernel_alive.cancel()
        return msg

    async def _async_poll_output_msg(self, parent_msg_id, cell, cell_index):
        from nbclient.exceptions import CellExecutionComplete

        assert self.kc is not None
        while True:
            try:
                msg = await ensure_async(self.kc.iopub_channel.get_msg(timeout=self.poll_slice_s))
            except Empty:
                continue
            if msg["parent_header"].get("msg_id") == parent_msg_id:
                try:
                    self.process_message(msg, cell, cell_index)
                except CellExecutionComplete:
                    return


class WatchedEngine(NBClientEngine):
    """papermill's nbclient engine with :class:`WatchedNotebookClient` (extra keyword arguments
    of ``papermill.execute_notebook``, such as ``stall_after_s``, configure it); the client it
    used is kept in :attr:`last_client` (for its :attr:`~WatchedNotebookClient.late_replies`)."""

    last_client: WatchedNotebookClient | None = None

    @classmethod
    def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, stdout_file=None,
                                 stderr_file=None, start_timeout=60, execution_timeout=None,
                                 **kwargs):
        kwargs.pop("input_path", None)
        kwargs.pop("startup_timeout", None)
        timeout = execution_timeout or kwargs.pop("timeout", None)
        kwargs.pop("timeout", None)
        client = WatchedNotebookClient(nb_man, timeout=timeout, startup_timeout=start_timeout,
                                       kernel_name=kernel_name, log=_papermill_logger(),
                                       log_output=log_output, stdout_file=stdout_file,
                                       stderr_file=stderr_file, **kwargs)
        cls.last_client = client
        return client.execute()


def _papermill_logger():
    from papermill.log import logger

    return logger


papermill_engines.register(ENGINE_NAME, WatchedEngine)
