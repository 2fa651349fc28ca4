// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {TestToken} from "./TestToken.sol";

/// 18-decimal token that burns feeBps/10000 of every transfer (rounded down),
/// so the recipient gets less than was sent. Mint and burn are not charged.
/// Exercises Uniswap V2's "...SupportingFeeOnTransferTokens" swap paths.
contract FeeOnTransferToken is TestToken {
    uint256 public immutable feeBps;

    constructor(string memory name_, string memory symbol_, uint256 feeBps_)
        TestToken(name_, symbol_, 18)
    {
        require(feeBps_ <= 10_000, "fee above 100%");
        feeBps = feeBps_;
    }

    function _move(address from, address to, uint256 amount) internal override {
        // Check the full amount up front so a short balance reports one clear reason.
        require(balanceOf[from] >= amount, "insufficient balance");
        uint256 fee = (amount * feeBps) / 10_000;
        super._move(from, to, amount - fee);
        if (fee != 0) _burn(from, fee);
    }
}
