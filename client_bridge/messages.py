"""What the bridge says to people, in Japanese and English (a tiny catalogue, no gettext build).

The bridge has one page and a dozen error sentences, so a dictionary keeps every translation next
to its twin where a reviewer sees both. Keys are the error reasons of :mod:`client_bridge.errors`
and the PIN page's labels. Placeholders use ``str.format`` names.
"""

from __future__ import annotations

LANGUAGES = ("ja", "en")
DEFAULT_LANGUAGE = "ja"
OFFICE_JA = "お住まいの市区町村の窓口"
OFFICE_EN = "your municipal office (市区町村の窓口)"

CATALOGUE: dict[str, dict[str, str]] = {
    # --- errors (keys are BridgeError.reason) ---------------------------------------------
    "pcsc_unavailable": {
        "ja": "カードリーダーのサービス (PC/SC) が動いていません。",
        "en": "The smart card service (PC/SC) is not running.",
    },
    "no_reader": {
        "ja": "カードリーダーが見つかりません。接続を確認してください。",
        "en": "No card reader was found. Check that it is connected.",
    },
    "no_card": {
        "ja": "カードリーダーにマイナンバーカードがありません。カードを置いてください。",
        "en": "There is no card in the reader. Please insert your My Number Card.",
    },
    "not_jpki_card": {
        "ja": "このカードには公的個人認証の電子証明書がありません。",
        "en": "This card holds no JPKI certificates; it is not a My Number Card.",
    },
    # Without a key named, the 4-digit PIN of a login; the signing password is always named
    # (利用者証明用電子証明書の暗証番号 and 署名用電子証明書のパスワード are J-LIS's names).
    "wrong_pin": {
        "ja": "利用者証明用電子証明書の暗証番号が違います。残り {tries_left} 回です。",
        "en": "Wrong PIN (user-authentication certificate). Tries left: {tries_left}.",
    },
    "last_try_auth": {
        "ja": "次に間違えると利用者証明用電子証明書の暗証番号がロックされます。ロックの解除は"
        + OFFICE_JA
        + "でのみできます。",
        "en": "This is your last try. If it is wrong, the PIN locks and only "
        + OFFICE_EN
        + " can reset it.",
    },
    "last_try_sign": {
        "ja": "次に間違えると署名用電子証明書のパスワードがロックされます。ロックの解除は"
        + OFFICE_JA
        + "でのみできます。",
        "en": "This is your last try. If it is wrong, the signing password locks and only "
        + OFFICE_EN
        + " can reset it.",
    },
    "pin_locked": {
        "ja": "利用者証明用電子証明書の暗証番号がロックされています。"
        + OFFICE_JA
        + "で解除してください。",
        "en": "The PIN is locked. Have it reset at " + OFFICE_EN + ".",
    },
    # In a two-key operation (bridge-protocol.md §9) the card says which PIN was wrong.
    "wrong_pin_auth": {
        "ja": "利用者証明用電子証明書の暗証番号 (数字4桁) が違います。残り {tries_left} 回です。"
        "署名用電子証明書のパスワードはカードに送っていません。",
        "en": "Wrong user-authentication PIN (4 digits). Tries left: {tries_left}. "
        "The signing password was not sent to the card.",
    },
    "wrong_pin_sign": {
        "ja": "署名用電子証明書のパスワードが違います。残り {tries_left} 回です。",
        "en": "Wrong signing password. Tries left: {tries_left}.",
    },
    "pin_locked_auth": {
        "ja": "利用者証明用電子証明書の暗証番号がロックされています。"
        + OFFICE_JA
        + "で解除してください。",
        "en": "The user-authentication PIN is locked. Have it reset at " + OFFICE_EN + ".",
    },
    "pin_locked_sign": {
        "ja": "署名用電子証明書のパスワードがロックされています。"
        + OFFICE_JA
        + "で解除してください。",
        "en": "The signing password is locked. Have it reset at " + OFFICE_EN + ".",
    },
    "pin_format": {
        "ja": "暗証番号またはパスワードの形式が違います (カードには送っていません)。",
        "en": "That PIN or password has the wrong format (it was not sent to the card).",
    },
    "pin_required": {
        "ja": "この情報を読むには暗証番号またはパスワードが必要です。",
        "en": "Reading this needs the PIN or password.",
    },
    "card_removed": {
        "ja": "操作の途中でカードが外されたか、リセットされました。もう一度お試しください。",
        "en": "The card was removed or reset during the operation. Please try again.",
    },
    "reader_busy": {
        "ja": "別のプログラムがカードリーダーを使用中です。",
        "en": "Another program is using the card reader.",
    },
    "card_error": {
        "ja": "カードが予期しない応答をしました。",
        "en": "The card gave an unexpected answer.",
    },
    "busy": {
        "ja": "別の操作が進行中です。終わってからもう一度お試しください。",
        "en": "Another card operation is in progress. Try again when it has finished.",
    },
    "cancelled": {"ja": "操作は取り消されました。", "en": "The operation was cancelled."},
    "abandoned": {
        "ja": "要求元のページが再読み込みされたか閉じられたため、この操作は取り消されました。"
        "署名はサイトに渡していません。",
        "en": "The page that asked was reloaded or closed, so this operation was cancelled. "
        "No signature was handed to the site.",
    },
    "not_collected": {
        "ja": "カードでの署名は終わりましたが、要求元のページが結果を受け取っていません"
        "(ページが再読み込みされたか閉じられた可能性があります)。署名はサイトに渡っていません。",
        "en": "The card has signed, but the page that asked has not received the result (it "
        "may have been reloaded or closed). The signature has not reached the site.",
    },
    "pin_timeout": {
        "ja": "暗証番号またはパスワードの入力を待つ時間が過ぎました。",
        "en": "The PIN or password was not entered in time.",
    },
    "bad_request": {"ja": "要求の形式が違います。", "en": "The request is malformed."},
    "forbidden_origin": {
        "ja": "このサイトからの要求は許可されていません。",
        "en": "Requests from this site are not allowed.",
    },
    "forbidden_host": {
        "ja": "このアドレスでの要求は許可されていません。",
        "en": "Requests for this address are not allowed.",
    },
    "not_found": {"ja": "見つかりません。", "en": "Not found."},
    "rate_limited": {
        "ja": "要求が多すぎます。しばらく待ってください。",
        "en": "Too many requests. Please wait a moment.",
    },
    # --- the PIN page ----------------------------------------------------------------------
    "bridge_name": {"ja": "マイナンバーカード ブリッジ", "en": "My Number Card bridge"},
    "title_authenticate": {
        "ja": "ログイン: 利用者証明用電子証明書の暗証番号の入力",
        "en": "Log in: enter the PIN of your user-authentication certificate",
    },
    "title_sign": {
        "ja": "本人確認: 署名用電子証明書のパスワードの入力",
        "en": "Identity verification: enter the password of your signing certificate",
    },
    "title_document": {
        "ja": "文書への電子署名: 署名用電子証明書のパスワードの入力",
        "en": "Sign a document: enter the password of your signing certificate",
    },
    "title_pair": {
        "ja": "本人確認: 暗証番号と署名用電子証明書のパスワードの入力",
        "en": "Identity verification: enter your PIN and signing password",
    },
    "title_document_pair": {
        "ja": "文書への電子署名: 暗証番号と署名用電子証明書のパスワードの入力",
        "en": "Sign a document: enter your PIN and signing password",
    },
    "requested_by": {"ja": "要求元のサイト", "en": "Requesting site"},
    "service": {"ja": "サービス (要求元の申告)", "en": "Service (as the site names it)"},
    "purpose": {"ja": "目的", "en": "Purpose"},
    "key_used": {"ja": "使うカードの鍵", "en": "Card key used"},
    "key_auth": {
        "ja": "利用者証明用電子証明書 (ログイン用、暗証番号は数字4桁)",
        "en": "User-authentication certificate (for logging in; its PIN is 4 digits)",
    },
    "key_sign": {
        "ja": "署名用電子証明書 (氏名・住所・生年月日・性別が記載され、相手に渡ります。"
        "パスワードは英数字6〜16文字)",
        "en": "Signing certificate (it carries your name, address, date of birth and sex, "
        "which the site receives; its password is 6 to 16 letters and digits)",
    },
    "purpose_authenticate": {
        "ja": "ログイン: 利用者証明用電子証明書で署名します",
        "en": "Log in: sign with the user-authentication certificate",
    },
    "purpose_sign": {
        "ja": "本人確認: 署名用電子証明書で署名します",
        "en": "Identity verification: sign with the signing certificate",
    },
    "purpose_pair": {
        "ja": "本人確認: 同じカードの利用者証明用と署名用の両方の電子証明書で署名します",
        "en": "Identity verification: sign with both certificates of the same card "
        "(user-authentication and signing)",
    },
    "purpose_document_pair": {
        "ja": "文書への電子署名: 署名用電子証明書で署名し、利用者証明用電子証明書で"
        "同じカードであることを示します",
        "en": "Sign a document with the signing certificate; the user-authentication "
        "certificate shows it is the same card",
    },
    "pair_explained": {
        "ja": "利用者証明用電子証明書の暗証番号 (数字4桁) と署名用電子証明書のパスワードの両方を"
        "入力します。署名用電子証明書がログインしたカードのものであることを、"
        "サイトが確かめられます。",
        "en": "Type both the 4-digit PIN and the signing password: together they let the "
        "site check that the signing certificate is on the card you logged in with.",
    },
    "tries_left_auth": {
        "ja": "利用者証明用電子証明書の暗証番号の残り回数: {tries_left}",
        "en": "PIN tries left: {tries_left}",
    },
    "tries_left_sign": {
        "ja": "署名用電子証明書のパスワードの残り回数: {tries_left}",
        "en": "Signing password tries left: {tries_left}",
    },
    # --- document signing (bridge-protocol.md §8) -------------------------------------------
    "purpose_document": {
        "ja": "文書への電子署名: 署名用電子証明書で署名します",
        "en": "Sign a document: sign with the signing certificate",
    },
    "document_title": {
        "ja": "文書名 (要求元の申告)",
        "en": "Document title (as the site states it)",
    },
    "document_summary": {
        "ja": "内容の要約 (要求元の申告)",
        "en": "Summary (as the site states it)",
    },
    "document_fingerprint": {"ja": "照合コード", "en": "Check code"},
    "check_document": {
        "ja": "照合コードがサイトの確認画面の表示と違う場合は、署名用電子証明書のパスワードを"
        "入力せずに取り消してください。",
        "en": "If the check code differs from the one on the site's review page, do not type "
        "your signing password: cancel.",
    },
    "pin_label_authenticate": {
        "ja": "利用者証明用電子証明書の暗証番号 (数字4桁)",
        "en": "PIN of the user-authentication certificate (4 digits)",
    },
    "pin_label_sign": {
        "ja": "署名用電子証明書のパスワード (英数字6〜16文字)",
        "en": "Password of the signing certificate (6 to 16 letters and digits)",
    },
    "pin_format_authenticate": {
        "ja": "暗証番号の形式が違います (カードには送っていません)。数字4桁で入力してください。",
        "en": "That PIN has the wrong format (it was not sent to the card). Type 4 digits.",
    },
    "pin_format_sign": {
        "ja": "署名用電子証明書のパスワードの形式が違います (カードには送っていません)。"
        "英数字6〜16文字で入力してください。",
        "en": "That password has the wrong format (it was not sent to the card). "
        "Type 6 to 16 letters and digits.",
    },
    "check_origin": {
        "ja": "要求元のサイトに心当たりがない場合は、何も入力せずに「取り消す」を押してください。",
        "en": "If you do not recognise the requesting site, type nothing: cancel.",
    },
    "submit_authenticate": {"ja": "ログインする", "en": "Log in"},
    "submit_sign": {"ja": "本人確認に同意する", "en": "Verify my identity"},
    "submit_document": {"ja": "署名する", "en": "Sign"},
    "cancel": {"ja": "取り消す", "en": "Cancel"},
    "done": {
        "ja": "カードでの処理が終わり、結果をサイトに渡しました。この画面を閉じて、"
        "元のページで結果を確認してください。",
        "en": "The card has finished and the site has received the result. Close this window "
        "and see the outcome on the site's page.",
    },
    "failed_next": {
        "ja": "この画面を閉じて、元のページからやり直してください。",
        "en": "Close this window and try again from the site.",
    },
    "starting": {"ja": "カードを確認しています…", "en": "Checking the card…"},
    "working": {"ja": "カードで署名しています…", "en": "Signing with the card…"},
    "pin_on_stdin": {
        "ja": "暗証番号またはパスワードは jpki-bridge を起動した端末に入力してください。",
        "en": "Type the PIN or password in the terminal where jpki-bridge runs.",
    },
    "check_again": {"ja": "最新の状態を表示する", "en": "Show the current state"},
    "other_language": {"ja": "English", "en": "日本語"},
    "runs_here": {
        "ja": "この画面はお使いのコンピューターで動くブリッジ (jpki-bridge) のもので、"
        "入力はカードにだけ送られ、サイトには送られません。",
        "en": "This window belongs to the bridge (jpki-bridge) running on your computer: "
        "what you type goes to your card only, never to the site.",
    },
    "window_gone": {
        "ja": "この暗証番号・パスワードの入力画面は使えなくなりました",
        "en": "This PIN window is no longer valid",
    },
    "window_gone_why": {
        "ja": "時間切れになったか、すでに完了したか、ブリッジが再起動されました。"
        "暗証番号・パスワードは送られていません。",
        "en": "It timed out, was completed already, or the bridge was restarted. No PIN was sent.",
    },
}


def text(key: str, language: str, **values: object) -> str:
    """One sentence in ``language`` (falling back to Japanese), placeholders filled."""
    entry = CATALOGUE[key]
    return entry.get(language, entry[DEFAULT_LANGUAGE]).format(**values)


def both(key: str, **values: object) -> dict[str, str]:
    """The sentence in every language, for API answers the login page shows as it prefers."""
    return {language: text(key, language, **values) for language in LANGUAGES}
