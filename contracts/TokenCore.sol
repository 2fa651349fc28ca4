// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// Bookkeeping shared by the test tokens: balances, allowances, supply and an
/// owner who may mint. The external transfer/approve surface is left to each
/// token because that is exactly where they differ (bool vs. no return value).
abstract contract TokenCore {
    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);

    error NotOwner(address caller);

    uint8 public immutable decimals;
    uint256 public totalSupply;
    address public owner;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    constructor(uint8 decimals_) {
        decimals = decimals_;
        owner = msg.sender;
        emit OwnershipTransferred(address(0), msg.sender);
    }

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    /// The world funds test accounts through this.
    function mint(address to, uint256 amount) external onlyOwner {
        require(to != address(0), "mint to zero address");
        totalSupply += amount;
        // Cannot overflow: no balance exceeds totalSupply, which was checked above.
        unchecked {
            balanceOf[to] += amount;
        }
        emit Transfer(address(0), to, amount);
    }

    /// Burns from the caller's own balance.
    function burn(uint256 amount) external {
        _burn(msg.sender, amount);
    }

    function transferOwnership(address newOwner) external onlyOwner {
        emit OwnershipTransferred(owner, newOwner);
        owner = newOwner;
    }

    function _burn(address from, uint256 amount) internal {
        uint256 balance = balanceOf[from];
        require(balance >= amount, "insufficient balance");
        unchecked {
            balanceOf[from] = balance - amount;
            totalSupply -= amount;
        }
        emit Transfer(from, address(0), amount);
    }

    function _move(address from, address to, uint256 amount) internal virtual {
        require(to != address(0), "transfer to zero address");
        uint256 balance = balanceOf[from];
        require(balance >= amount, "insufficient balance");
        unchecked {
            balanceOf[from] = balance - amount;
            balanceOf[to] += amount;
        }
        emit Transfer(from, to, amount);
    }

    function _approve(address holder, address spender, uint256 amount) internal {
        require(spender != address(0), "approve to zero address");
        allowance[holder][spender] = amount;
        emit Approval(holder, spender, amount);
    }

    /// An allowance of type(uint256).max is never decremented, as routers expect
    /// from "infinite approval" tokens.
    function _spendAllowance(address holder, address spender, uint256 amount) internal {
        uint256 current = allowance[holder][spender];
        if (current != type(uint256).max) {
            require(current >= amount, "insufficient allowance");
            unchecked {
                allowance[holder][spender] = current - amount;
            }
        }
    }
}

/// The usual ERC-20 surface: transfer, transferFrom and approve return true.
abstract contract StandardToken is TokenCore {
    constructor(uint8 decimals_) TokenCore(decimals_) {}

    function transfer(address to, uint256 amount) external returns (bool) {
        _move(msg.sender, to, amount);
        return true;
    }

    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        _spendAllowance(from, msg.sender, amount);
        _move(from, to, amount);
        return true;
    }

    function approve(address spender, uint256 amount) external returns (bool) {
        _approve(msg.sender, spender, amount);
        return true;
    }
}
