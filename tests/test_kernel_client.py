"""The watched client's reply loop, driven by a fake kernel client (no kernel started)."""

import asyncio
import datetime as dt
import types
from queue import Empty

import nbformat
import pytest
from nbclient.exceptions import CellTimeoutError
from nbformat.v4 import new_code_cell, new_notebook

from effnotes.kernel_client import KernelStallError, WatchedNotebookClient


class FakeShell:
    """A shell channel that has nothing for ``silent_s`` seconds, then ``reply`` (if any);
    with ``missed_wakeup`` the reply is handed over only when a poll times out (as pyzmq's
    direct check at the end of a poll finds a message whose wake-up was missed)."""

    def __init__(self, reply=None, silent_s=0.0, missed_wakeup=False):
        self.reply, self.ready_at = reply, asyncio.get_event_loop().time() + silent_s
        self.missed_wakeup = missed_wakeup

    async def get_msg(self, timeout=None):
        loop = asyncio.get_event_loop()
        if self.missed_wakeup and self.reply is not None:
            await asyncio.sleep(timeout)
        if self.reply is not None and loop.time() >= self.ready_at:
            reply, self.reply = self.reply, None
            return reply
        await asyncio.sleep(min(timeout, max(0.0, self.ready_at - loop.time())) if timeout else 0)
        raise Empty


def reply(msg_id, age_s):
    date = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=age_s)
    return {"parent_header": {"msg_id": msg_id}, "header": {"date": date},
            "content": {"status": "ok"}}


def poll(shell, *, idle, timeout=30, stall_after_s=0.3):
    async def go():
        nb = new_notebook(cells=[new_code_cell("x")])
        client = WatchedNotebookClient(types.SimpleNamespace(nb=nb), poll_slice_s=0.05,
                                       stall_after_s=stall_after_s)
        client.kc = types.SimpleNamespace(shell_channel=shell(), is_alive=lambda: True)
        output = asyncio.get_event_loop().create_future()
        if idle:
            output.set_result(None)
        alive = asyncio.ensure_future(asyncio.sleep(100))
        cell = nbformat.from_dict({"metadata": {"execution": {}}, "source": "x"})
        msg = await client._async_poll_for_reply("m1", cell, timeout, output, alive)
        return client, msg
    return asyncio.run(go())


def test_a_reply_is_returned_and_a_stale_one_counted_late():
    client, msg = poll(lambda: FakeShell(reply("m1", 0.0)), idle=True)
    assert msg["content"]["status"] == "ok" and client.late_replies == []
    client, _ = poll(lambda: FakeShell(reply("m1", 3.0)), idle=True)
    assert client.late_replies == []  # woken at once: the kernel was slow, not the client
    client, _ = poll(lambda: FakeShell(reply("m1", 3.0), missed_wakeup=True), idle=True)
    assert len(client.late_replies) == 1 and client.late_replies[0][1] >= 3.0


def test_an_idle_kernel_without_reply_is_a_stall():
    loop_start = dt.datetime.now()
    with pytest.raises(KernelStallError, match="idle without replying"):
        poll(lambda: FakeShell(None), idle=True, stall_after_s=0.3)
    assert (dt.datetime.now() - loop_start).total_seconds() < 5


def test_a_busy_kernel_is_not_a_stall_but_times_out():
    with pytest.raises(CellTimeoutError) as raised:
        poll(lambda: FakeShell(None), idle=False, timeout=1, stall_after_s=0.1)
    assert not isinstance(raised.value, KernelStallError)


def test_other_replies_are_skipped():
    class Two(FakeShell):
        def __init__(self):
            super().__init__(reply("other", 0.0))
            self.then = reply("m1", 0.0)

        async def get_msg(self, timeout=None):
            if self.reply is None and self.then is not None:
                self.reply, self.then = self.then, None
            return await super().get_msg(timeout)
    _, msg = poll(Two, idle=True)
    assert msg["parent_header"]["msg_id"] == "m1"


def test_the_stall_probe_keeps_the_widget_cells(repo_root):
    from effnotes.stall_probe import probe_notebook

    cells = probe_notebook("cyclic_tradeoff", repo_root).cells
    assert "parameters" in cells[0].metadata["tags"]
    assert "import precomputed_controls" in cells[1].source
    assert any("precomputed_controls(" in c.source for c in cells[2:])
    assert all(not c.outputs for c in cells)


def test_the_engine_runs_a_notebook_and_knows_each_cell(tmp_path):
    import papermill

    from effnotes.kernel_client import ENGINE_NAME, WatchedEngine

    notebook = new_notebook(cells=[new_code_cell("x = 2"), new_code_cell("print(x * 21)")])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    nbformat.write(notebook, tmp_path / "in.ipynb")
    papermill.execute_notebook(str(tmp_path / "in.ipynb"), str(tmp_path / "out.ipynb"),
                               kernel_name="python3", progress_bar=False, engine_name=ENGINE_NAME,
                               stall_after_s=30.0)
    client = WatchedEngine.last_client
    assert isinstance(client, WatchedNotebookClient) and client.stall_after_s == 30.0
    assert client._cell_index == 1  # set by the cell loop papermill drives
    out = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    assert out.cells[1].outputs[0]["text"] == "42\n"
