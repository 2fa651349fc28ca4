// Print the canonical Uniswap addresses as Uniswap's own npm packages publish them,
// keyed by chain name and by the contract and token names chainops uses.
const core = require("@uniswap/sdk-core");
const sor = require("@uniswap/smart-order-router");

const CHAINS = { ethereum: 1, arbitrum: 42161, optimism: 10, base: 8453, polygon: 137, bsc: 56 };
// Stablecoins (and Polygon's WETH) as smart-order-router names them, by our symbol.
const TOKENS = {
  ethereum: { USDC: "USDC_MAINNET", USDT: "USDT_MAINNET", DAI: "DAI_MAINNET" },
  arbitrum: {
    USDC: "USDC_NATIVE_ARBITRUM", "USDC.e": "USDC_ARBITRUM", USDT: "USDT_ARBITRUM",
    DAI: "DAI_ARBITRUM",
  },
  optimism: {
    USDC: "USDC_NATIVE_OPTIMISM", "USDC.e": "USDC_OPTIMISM", USDT: "USDT_OPTIMISM",
    DAI: "DAI_OPTIMISM",
  },
  base: { USDC: "USDC_NATIVE_BASE", USDbC: "USDC_BASE" },
  polygon: {
    USDC: "USDC_NATIVE_POLYGON", "USDC.e": "USDC_POLYGON", DAI: "DAI_POLYGON",
    WETH: "WETH_POLYGON",
  },
  bsc: { USDC: "USDC_BNB", USDT: "USDT_BNB", DAI: "DAI_BNB" },
};

const routers02 = (id) =>
  typeof sor.SWAP_ROUTER_02_ADDRESSES === "function"
    ? sor.SWAP_ROUTER_02_ADDRESSES(id)
    : sor.SWAP_ROUTER_02_ADDRESSES[id];

const out = {};
for (const [name, id] of Object.entries(CHAINS)) {
  const map = core.CHAIN_TO_ADDRESSES_MAP[id];
  const wrapped = sor.WRAPPED_NATIVE_CURRENCY[id];
  const tokens = {};
  tokens[wrapped.symbol] = { address: wrapped.address, decimals: wrapped.decimals };
  for (const [symbol, exported] of Object.entries(TOKENS[name])) {
    const t = sor[exported];
    tokens[symbol] = { address: t.address, decimals: t.decimals };
  }
  out[name] = {
    chain_id: id,
    wrapped_native: wrapped.symbol,
    contracts: {
      WETH9: core.WETH9[id].address,
      UniswapV2Factory: core.V2_FACTORY_ADDRESSES[id],
      UniswapV2Router02: core.V2_ROUTER_ADDRESSES[id],
      UniswapV3Factory: map.v3CoreFactoryAddress,
      NonfungiblePositionManager: map.nonfungiblePositionManagerAddress,
      SwapRouter02: map.swapRouter02Address || routers02(id),
      QuoterV2: sor.QUOTER_V2_ADDRESSES[id],
    },
    sdk_core_quoter: map.quoterAddress,
    tokens,
  };
}
process.stdout.write(JSON.stringify(out, null, 1));
