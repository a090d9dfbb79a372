"""The office's signing key also anchors the audit chain: its checkpoints are signed with it.

Audit sits below receipts, so it cannot load the keys itself; ``ReceiptsConfig.ready``
hands it this adapter (``ipdesk.audit.checkpoints.use_keys``).
"""

from __future__ import annotations

from .signing import keyring


class ReceiptKeys:
    def sign(self, data: bytes) -> tuple[str, str, bytes]:
        signer = keyring().require_signer()
        return signer.key_id, signer.algorithm, signer.sign(data)

    def verify(self, key_id: str, data: bytes, signature: bytes) -> bool:
        return keyring().verify(key_id, data, signature)
