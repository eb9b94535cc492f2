/**
 * The DataMarket ABI as far as the off-chain market side uses it, from contracts/interfaces/IDataMarket.sol
 * (docs/MARKET.md). Kept here, human-readable, so the sales side does not depend on generated artifacts.
 *
 * @module
 */
import { parseAbi } from "viem";

/** DataMarket functions, events and errors used by the follower, the platform, the CLI and the web page. */
export const dataMarketAbi = parseAbi([
  "struct Product { bytes32 scopeHash; address token; uint64 accessPeriod; uint8 status; uint256 price; }",
  "struct Purchase { address buyer; uint48 productId; uint48 paidAt; uint64 expiresAt; uint128 price; uint128 fee; }",
  "event ProductListed(uint256 indexed productId, bytes32 indexed scopeHash, address indexed token, uint256 price, uint64 accessPeriod)",
  "event ProductRepriced(uint256 indexed productId, uint256 oldPrice, uint256 newPrice)",
  "event ProductRetired(uint256 indexed productId)",
  "event Purchased(uint256 indexed purchaseId, uint256 indexed productId, address indexed buyer, address token, uint256 price, uint256 fee, uint256 contributorPool, bytes32 scopeHash, uint64 expiresAt)",
  "function list(bytes32 scopeHash, address token, uint256 price, uint64 accessPeriod) returns (uint256)",
  "function reprice(uint256 productId, uint256 price)",
  "function retire(uint256 productId)",
  "function purchase(uint256 productId, address token, uint256 price) returns (uint256)",
  "function purchaseWithPermit(uint256 productId, address token, uint256 price, uint256 deadline, uint8 v, bytes32 r, bytes32 s) returns (uint256)",
  "function getProduct(uint256 productId) view returns (Product)",
  "function getPurchase(uint256 purchaseId) view returns (Purchase)",
  "function productCount() view returns (uint256)",
  "function purchaseCount() view returns (uint256)",
  "function feeBps() view returns (uint16)",
  "function treasury() view returns (address)",
  "function distributor() view returns (address)",
  "error DataMarketUnknownProduct(uint256 productId)",
  "error DataMarketProductRetired(uint256 productId)",
  "error DataMarketWrongToken(uint256 productId, address token, address expected)",
  "error DataMarketPriceChanged(uint256 productId, uint256 price, uint256 current)",
  "error DataMarketPermitExpired(uint256 deadline)",
  "error DataMarketTokenNotAccepted(address token)",
  "error DataMarketZeroScope()",
  "error DataMarketInvalidPrice(uint256 price)",
  "error DataMarketZeroAccessPeriod()",
  "error EnforcedPause()",
  "error AccessControlUnauthorizedAccount(address account, bytes32 neededRole)",
  "error ERC20InsufficientAllowance(address spender, uint256 allowance, uint256 needed)",
  "error ERC20InsufficientBalance(address sender, uint256 balance, uint256 needed)",
]);

/** A product's status as the contract numbers it. */
export const ProductStatus = { None: 0, Active: 1, Retired: 2 } as const;
