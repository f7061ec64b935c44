"""The broker under valgrind: a produce/consume round and a clean shutdown
with no memory errors and nothing definitely lost."""
import os
import shutil

import pytest

from clients import consume_confluent, produce

pytestmark = pytest.mark.skipif(os.environ.get("SLUICE_SKIP_VALGRIND") == "1" or
                                not shutil.which("valgrind"), reason="valgrind skipped")


def test_valgrind_clean(make_broker, tmp_path):
    vlog = tmp_path / "valgrind.log"
    b = make_broker(wrapper=["valgrind", "--error-exitcode=99", "--leak-check=full",
                             "--errors-for-leak-kinds=definite", f"--log-file={vlog}"])
    produce(b.bootstrap, "vg", 1_000, compression="gzip")
    assert consume_confluent(b.bootstrap, "vg", 1_000) == 1_000
    code = b.stop(timeout=120)
    text = vlog.read_text()
    assert code == 0, text[-3000:]
    assert "ERROR SUMMARY: 0 errors" in text, text[-3000:]
    assert "definitely lost: 0 bytes" in text or "no leaks are possible" in text, text[-3000:]
