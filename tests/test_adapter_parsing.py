"""Every wire message the clients read, decoded by its schema and parsed into Nautilus objects, on real data:
the hftbacktest WS capture and the S3 archive (``l2Book``, ``trades``), the Python SDK's ``/info`` cassettes,
and NautilusTrader's Hyperliquid fixtures (``user`` events with a liquidation, spot/dust fills, asset contexts).
``/exchange`` answers have no capture on disk; they are checked against the documented examples (protocol §3.2).
"""

from __future__ import annotations

import json
from decimal import Decimal
from itertools import islice

import msgspec
import pytest
from nautilus_trader.model.enums import AggressorSide
from nautilus_trader.model.enums import LiquiditySide
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import OrderStatus
from nautilus_trader.model.enums import OrderType
from nautilus_trader.model.enums import PositionSide
from nautilus_trader.model.enums import TimeInForce
from nautilus_trader.model.identifiers import AccountId

from adapters.hyperliquid import parsing
from adapters.hyperliquid.book_diff import SnapshotDiffer
from adapters.hyperliquid.cassettes import cassette_response_bodies
from adapters.hyperliquid.instruments import perpetual_from_meta
from adapters.hyperliquid.meta import DEFAULT_META
from adapters.hyperliquid.meta import default_instrument
from adapters.hyperliquid.meta import load_meta
from adapters.hyperliquid.recordings import iter_ws_messages
from adapters.hyperliquid.schemas.exchange import ExchangeResponse
from adapters.hyperliquid.schemas.exchange import ItemStatus
from adapters.hyperliquid.schemas.market import AssetCtx
from adapters.hyperliquid.schemas.market import BOOK_FRAME_DECODER
from adapters.hyperliquid.schemas.market import BOOK_FRAME_PREFIX
from adapters.hyperliquid.schemas.market import Bbo
from adapters.hyperliquid.schemas.market import L2Book
from adapters.hyperliquid.schemas.market import PerpMeta
from adapters.hyperliquid.schemas.market import Trade
from adapters.hyperliquid.schemas.user import ClearinghouseState
from adapters.hyperliquid.schemas.user import OpenOrder
from adapters.hyperliquid.schemas.user import OrderStatusResponse
from adapters.hyperliquid.schemas.user import OrderUpdate
from adapters.hyperliquid.schemas.user import UserEvent
from adapters.hyperliquid.schemas.user import UserFill
from adapters.hyperliquid.schemas.user import UserFills
from adapters.hyperliquid.schemas.user import UserRateLimit
from adapters.hyperliquid.schemas.ws import WsMessage

ACCOUNT = AccountId("HYPERLIQUID-master")
TS = 1_800_000_000_000_000_000  # a receive time after every fixture (2027), as a live receive time always is


@pytest.fixture(scope="module")
def meta() -> dict:
    return load_meta(DEFAULT_META)


def instrument(meta: dict, coin: str):
    return perpetual_from_meta(meta, coin)


def cassette(sdk_cassettes, name: str, index: int = -1) -> bytes:
    return cassette_response_bodies(sdk_cassettes / name)[index].encode()


# -- market data --------------------------------------------------------------------------------------------


def test_ws_capture_l2book_and_trades_frames(ws_recording_btc, meta):
    btc = instrument(meta, "BTC")
    differ = SnapshotDiffer.for_instrument(btc)
    books = trades = 0
    for _, recv_ns, message in iter_ws_messages(ws_recording_btc):
        envelope = msgspec.json.decode(msgspec.json.encode(message), type=WsMessage)
        if envelope.channel == "l2Book":
            book = msgspec.json.decode(envelope.data, type=L2Book)
            bids, asks = book.parse_levels()
            assert len(bids) == len(asks) == 20 and bids[0][0] < asks[0][0]
            assert [lv.n for lv in book.levels[0]] == [lv["n"] for lv in message["data"]["levels"][0]]
            differ.diff(bids, asks, parsing.ms_to_ns(book.time), recv_ns)
            books += 1
        elif envelope.channel == "trades":
            for trade in msgspec.json.decode(envelope.data, type=list[Trade]):
                tick = trade.parse_to_trade_tick(btc, recv_ns)
                assert tick.trade_id.value == str(trade.tid) and tick.ts_event <= recv_ns
                assert tick.aggressor_side == (AggressorSide.BUYER if trade.side == "B" else AggressorSide.SELLER)
                assert tick.price.as_decimal() == Decimal(trade.px) and len(trade.users) == 2
                trades += 1
    assert (books, trades) == (46, 64)


def test_archive_l2book_frames(archive_btc_hour):
    for _, _, message in islice(iter_ws_messages(archive_btc_hour), 500):
        book = msgspec.json.decode(msgspec.json.encode(message["data"]), type=L2Book)
        bids, asks = book.parse_levels()
        assert book.coin == "BTC" and bids[0][0] < asks[0][0]


def test_one_pass_book_frames_read_the_same_levels_as_l2book(archive_btc_hour, ws_recording_btc):
    """The live feed's one-pass frame decoder against the envelope then ``L2Book`` (the loaders' path): every book
    of both captures starts with the prefix that selects it and reads the same levels, bit for bit."""
    books = 0
    for path in (archive_btc_hour, ws_recording_btc):
        for _, _, message in iter_ws_messages(path):
            if message.get("channel") != "l2Book":
                continue
            text = msgspec.json.encode(message).decode()
            assert text.startswith(BOOK_FRAME_PREFIX)
            fast = BOOK_FRAME_DECODER.decode(text).data
            reference = msgspec.json.decode(msgspec.json.encode(message["data"]), type=L2Book)
            assert (fast.coin, fast.time) == (reference.coin, reference.time)
            assert fast.parse_levels() == reference.parse_levels()
            books += 1
    assert books > 1000


def test_meta_builds_the_loaders_instrument(sdk_cassettes, nt_fixtures):
    meta = msgspec.json.decode(cassette(sdk_cassettes, "test_get_info.yaml"), type=PerpMeta)
    assert meta.universe[0].name == "BTC" and meta.universe[0].szDecimals == 5
    built = perpetual_from_meta(msgspec.to_builtins(meta), "BTC")
    assert built == default_instrument() and built.info["asset"] == 0
    sample = msgspec.json.decode((nt_fixtures / "http_meta_perp_sample.json").read_bytes(), type=PerpMeta)
    assert sample.listed_coins() == ["BTC", "ETH", "ATOM"], "null isDelisted/onlyIsolated are not delisted"
    assert perpetual_from_meta(msgspec.to_builtins(sample), "ETH").info == {"asset": 1, "szDecimals": 4, "maxLeverage": 25}


def test_l2book_snapshots_from_info(sdk_cassettes, nt_fixtures):
    dydx = msgspec.json.decode(cassette(sdk_cassettes, "test_get_l2_snapshot.yaml"), type=L2Book)
    assert dydx.coin == "DYDX" and dydx.levels[0][0].n == 1
    btc = msgspec.json.decode((nt_fixtures / "http_l2_book_btc.json").read_bytes(), type=L2Book)
    assert btc.levels[0][0].n is None, "n is optional"
    assert btc.parse_levels()[0][0] == (110427.0, 4.11882)
    synthetic = msgspec.json.decode((nt_fixtures / "ws_book_data.json").read_bytes(), type=L2Book)
    assert synthetic.parse_levels()[1][0] == (98451.0, 1.5)


def test_bbo_with_an_empty_side_gives_no_quote(meta):
    btc = instrument(meta, "BTC")
    level = {"px": "42727.0", "sz": "0.02265", "n": 1}
    full = msgspec.json.decode(json.dumps({"coin": "BTC", "time": 1, "bbo": [level, {**level, "px": "42728.0"}]}), type=Bbo)
    quote = full.parse_to_quote_tick(btc, TS)
    assert (quote.bid_price.as_double(), quote.ask_price.as_double(), quote.ts_event) == (42727.0, 42728.0, 1_000_000)
    one_sided = msgspec.json.decode(json.dumps({"coin": "BTC", "time": 1, "bbo": [level, None]}), type=Bbo)
    assert one_sided.parse_to_quote_tick(btc, TS) is None


def test_recent_trades_and_asset_contexts(nt_fixtures, meta):
    btc = instrument(meta, "BTC")
    trades = msgspec.json.decode((nt_fixtures / "http_recent_trades_btc.json").read_bytes(), type=list[Trade])
    assert [t.parse_to_trade_tick(btc, TS).price.as_double() for t in trades] == [104320.0, 104310.5, 104300.0]
    frame = json.loads((nt_fixtures / "ws_all_dexs_asset_ctxs.json").read_text())
    ctxs = [ctx for _, dex_ctxs in frame["data"]["ctxs"] for ctx in dex_ctxs]
    parsed = msgspec.json.decode(json.dumps(ctxs), type=list[AssetCtx])
    assert len(parsed) == len(ctxs) > 100
    first = parsed[0]
    assert first.parse_to_mark_price(btc, TS, TS).value.as_double() == 77562.0
    funding = first.parse_to_funding_rate(btc, TS, TS)
    assert funding.rate == Decimal("-0.0000015186") and funding.interval == 60


# -- account data --------------------------------------------------------------------------------------------


def test_frontend_and_plain_open_orders(sdk_cassettes, meta):
    frontend = msgspec.json.decode(cassette(sdk_cassettes, "test_get_frontend_open_orders.yaml"), type=list[OpenOrder])
    take_profit = frontend[0]
    assert (take_profit.coin, take_profit.orderType, take_profit.tif, take_profit.isTrigger) == ("INJ", "Take Profit Market", None, True)
    report = take_profit.parse_to_order_status_report(ACCOUNT, instrument(meta, "INJ"), None, "open", TS, TS)
    assert report.order_type == OrderType.STOP_MARKET and report.order_status == OrderStatus.ACCEPTED
    assert report.trigger_price.as_decimal() == Decimal("10.004") and report.reduce_only and report.order_side == OrderSide.SELL
    plain = msgspec.json.decode(cassette(sdk_cassettes, "test_get_open_orders.yaml"), type=list[OpenOrder])
    assert len(plain) > 50 and all(o.origSz is None and o.original == o.remaining for o in plain)
    btc_orders = [o for o in plain if o.coin == "BTC"]
    for order in btc_orders:
        report = order.parse_to_order_status_report(ACCOUNT, instrument(meta, "BTC"), None, "open", TS, TS)
        assert report.order_type == OrderType.LIMIT and report.filled_qty.as_double() == 0


def test_historical_orders_and_order_status(sdk_cassettes, meta):
    history = msgspec.json.decode(cassette(sdk_cassettes, "test_historical_orders.yaml"), type=list[OrderUpdate])
    statuses = {update.status for update in history}
    assert "iocCancelRejected" in statuses
    for update in history:
        expected = parsing.order_status(update.status, update.order.remaining, update.order.original)
        assert expected is not None, update.status
        tif, post_only = parsing.time_in_force(update.order.tif)
        assert tif in (TimeInForce.GTC, TimeInForce.IOC)
    unknown = msgspec.json.decode(b'{"status":"unknownOid"}', type=OrderStatusResponse)
    assert unknown.order is None
    documented = {
        "status": "order",
        "order": {
            "order": {"coin": "ETH", "side": "A", "limitPx": "2412.7", "sz": "0.0", "oid": 1, "timestamp": 1724361546645,
                      "triggerCondition": "N/A", "isTrigger": False, "triggerPx": "0.0", "children": [], "isPositionTpsl": False,
                      "reduceOnly": True, "orderType": "Market", "origSz": "0.0076", "tif": "FrontendMarket", "cloid": None},
            "status": "filled",
            "statusTimestamp": 1724361546645,
        },
    }
    response = msgspec.json.decode(json.dumps(documented), type=OrderStatusResponse)
    report = response.order.order.parse_to_order_status_report(ACCOUNT, instrument(meta, "ETH"), None, "filled", TS, TS)
    assert (report.order_status, report.time_in_force, report.order_type) == (OrderStatus.FILLED, TimeInForce.IOC, OrderType.MARKET)
    assert report.filled_qty.as_decimal() == Decimal("0.0076")


def test_user_fills_of_2023_without_tid(sdk_cassettes, meta):
    for name in ("test_get_user_fills.yaml", "test_get_user_fills_by_time.yaml"):
        fills = msgspec.json.decode(cassette(sdk_cassettes, name), type=list[UserFill])
        assert len(fills) >= 500 and all(f.tid is None for f in fills)
        ids = {f.trade_id.value for f in fills}
        assert len(ids) == len(fills), "derived trade ids still identify each fill"
        coins = {entry["name"] for entry in meta["universe"]}
        for fill in fills:
            if fill.coin in coins:
                report = fill.parse_to_fill_report(ACCOUNT, instrument(meta, fill.coin), None, TS)
                assert report.liquidity_side == (LiquiditySide.TAKER if fill.crossed else LiquiditySide.MAKER)
                assert report.commission.as_decimal() == Decimal(fill.fee)


def test_fills_with_tid_spot_tokens_and_liquidations(nt_fixtures, meta):
    fills = msgspec.json.decode((nt_fixtures / "http_user_fills_dust_conversion.json").read_bytes(), type=list[UserFill])
    assert [f.trade_id.value for f in fills][:2] == ["17679709382320", "122379282851005"]
    spot = next(f for f in fills if f.feeToken == "USOL")
    with pytest.raises(ValueError, match="USOL"):
        spot.commission()
    frame = msgspec.json.decode((nt_fixtures / "ws_user_fill_liquidation.json").read_bytes(), type=WsMessage)
    assert frame.channel == "user"
    event = msgspec.json.decode(frame.data, type=UserEvent)
    [fill] = event.fills
    assert fill.cloid == "0xe8d5fd7ebbb4c3cff4d1803472a11463" and fill.liquidation.method == "market"
    report = fill.parse_to_fill_report(ACCOUNT, instrument(meta, "BTC"), None, TS)
    assert (report.order_side, report.last_qty.as_double(), report.commission.as_double()) == (OrderSide.SELL, 0.001, 0.009997)
    streamed = msgspec.json.decode(
        json.dumps({"user": "0xabc", "fills": [msgspec.to_builtins(fill)]}), type=UserFills
    )
    assert streamed.isSnapshot is False, "a streamed userFills message may omit isSnapshot"


def test_user_events_other_than_fills():
    cancel = msgspec.json.decode(b'{"nonUserCancel":[{"coin":"BTC","oid":91490942}]}', type=UserEvent)
    assert cancel.nonUserCancel[0].oid == 91490942 and cancel.fills is None
    funding = msgspec.json.decode(
        b'{"funding":{"time":1,"coin":"BTC","usdc":"-0.5","szi":"0.01","fundingRate":"0.0000125"}}', type=UserEvent
    )
    assert funding.funding.usdc == "-0.5"
    liquidation = msgspec.json.decode(
        b'{"liquidation":{"lid":1,"liquidator":"0x1","liquidated_user":"0x2","liquidated_ntl_pos":"1.0","liquidated_account_value":"0.5"}}',
        type=UserEvent,
    )
    assert liquidation.liquidation.liquidated_user == "0x2" and liquidation.liquidation.liquidated_ntl_pos == "1.0"


def test_clearinghouse_states(sdk_cassettes, nt_fixtures, meta):
    state = msgspec.json.decode(cassette(sdk_cassettes, "test_get_user_state.yaml"), type=ClearinghouseState)
    positions = state.positions()
    assert Decimal(positions["BTC"].szi) == Decimal("-0.00785")
    report = state.parse_to_position_status_report(ACCOUNT, instrument(meta, "BTC"), TS)
    assert (report.position_side, report.quantity.as_decimal(), report.avg_px_open) == (PositionSide.SHORT, Decimal("0.00785"), Decimal("26951.0"))
    unrealized = sum(Decimal(p.position.unrealizedPnl) for p in state.assetPositions)
    assert state.cash() == state.account_value() - unrealized
    flat = state.parse_to_position_status_report(ACCOUNT, instrument(meta, "DOGE"), TS)
    assert flat.position_side == PositionSide.FLAT and flat.quantity.as_double() == 0
    negative = msgspec.json.decode(
        (nt_fixtures / "http_clearinghouse_state_negative_total_raw_usd.json").read_bytes(), type=ClearinghouseState
    )
    assert negative.account_value() == Decimal("1736.030875") and negative.margin_used() == Decimal("963.798764")


def test_user_rate_limit(sdk_cassettes):
    limit = msgspec.json.decode(cassette(sdk_cassettes, "test_user_rate_limit.yaml"), type=UserRateLimit)
    assert limit.nRequestsCap == 170043731737 and limit.nRequestsSurplus == 0


# -- /exchange answers (documented examples, protocol §3.2-3.8) ---------------------------------------------------


def test_exchange_answers():
    order = msgspec.json.decode(
        b'{"status":"ok","response":{"type":"order","data":{"statuses":[{"resting":{"oid":77738308}},'
        b'{"filled":{"totalSz":"0.02","avgPx":"1891.4","oid":77747314}},{"error":"Order must have minimum value of $10."},'
        b'"waitingForFill"]}}}',
        type=ExchangeResponse,
    )
    resting, filled, error, waiting = order.statuses()
    assert order.error is None and (resting.oid, filled.oid, error.oid) == (77738308, 77747314, None)
    assert error.error == "Order must have minimum value of $10." and waiting == "waitingForFill"
    cancels = msgspec.json.decode(
        b'{"status":"ok","response":{"type":"cancel","data":{"statuses":["success",'
        b'{"error":"Order was never placed, already canceled, or filled."}]}}}',
        type=ExchangeResponse,
    )
    assert cancels.statuses()[0] == "success" and isinstance(cancels.statuses()[1], ItemStatus)
    default = msgspec.json.decode(b'{"status":"ok","response":{"type":"default"}}', type=ExchangeResponse)
    assert default.error is None and default.statuses() == []
    refused = msgspec.json.decode(b'{"status":"err","response":"L1 error: User or API Wallet 0xcd9d does not exist."}', type=ExchangeResponse)
    assert refused.error == "L1 error: User or API Wallet 0xcd9d does not exist."


def test_status_and_tif_mappings():
    assert parsing.order_status("open", Decimal("0.5"), Decimal("1")) == OrderStatus.PARTIALLY_FILLED
    assert parsing.order_status("scheduledCancel", Decimal(1), Decimal(1)) == OrderStatus.CANCELED
    assert parsing.order_status("reduceOnlyCanceled", Decimal(1), Decimal(1)) == OrderStatus.CANCELED
    assert parsing.order_status("badAloPxRejected", Decimal(1), Decimal(1)) == OrderStatus.REJECTED
    assert parsing.order_status("somethingNew", Decimal(1), Decimal(1)) is None
    assert parsing.venue_tif(TimeInForce.GTC, True) == "Alo" and parsing.venue_tif(TimeInForce.FOK, False) is None
    assert parsing.is_post_only_reject("Post only order would have immediately matched, bbo was 1@2.")
