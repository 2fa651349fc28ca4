// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {StandardToken} from "./TokenCore.sol";

/// 18-decimal token whose name() and symbol() return bytes32 instead of
/// string, as mainnet MKR does. Metadata readers must fall back to bytes32.
contract Bytes32SymbolToken is StandardToken {
    bytes32 public name;
    bytes32 public symbol;

    constructor(bytes32 name_, bytes32 symbol_) StandardToken(18) {
        name = name_;
        symbol = symbol_;
    }
}
